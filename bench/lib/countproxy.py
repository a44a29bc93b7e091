#!/usr/bin/env python3
"""bench/lib/countproxy.py LISTEN_PORT TARGET_PORT COUNT_FILE

A TCP forwarder on 127.0.0.1 (LISTEN_PORT -> TARGET_PORT) that counts the
HTTP requests its clients send, for bench/compare: each node reaches etcd
only through its own forwarder, so the count is that node's etcd load.  A
request is a request line ("POST /v3/kv/range HTTP/1.1") in the client's
stream; a watch is one request however long it streams.  COUNT_FILE is
rewritten (write, then rename) at most every 0.2 s when the count changed:
the first line "total N", then one line "PATH N" per path.

One process, so that SIGSTOP freezes every connection (a partition that
drops packets), SIGKILL refuses new ones, as with the socat forwarders of
test/cluster.sh.
"""
import asyncio
import os
import re
import signal
import sys

REQUEST = re.compile(rb'(?:GET|POST|PUT|DELETE|HEAD|PATCH) (/\S*) HTTP/1\.[01]\r\n')
KEEP = 128                      # bytes of an unfinished request line kept

counts = {}
total = 0
dirty = True


async def pipe(reader, writer, count):
    global total, dirty
    buf = b''
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if count:
                buf += data
                end = 0
                for m in REQUEST.finditer(buf):
                    path = m.group(1).decode('ascii', 'replace')
                    counts[path] = counts.get(path, 0) + 1
                    total += 1
                    dirty = True
                    end = m.end()
                buf = buf[end:][-KEEP:]
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(creader, cwriter, target):
    try:
        sreader, swriter = await asyncio.open_connection('127.0.0.1', target)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, swriter, True), pipe(sreader, cwriter, False))


async def flush(path):
    global dirty
    while True:
        if dirty:
            dirty = False
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write('total %d\n' % total)
                for p, n in sorted(counts.items()):
                    f.write('%s %d\n' % (p, n))
            os.replace(tmp, path)
        await asyncio.sleep(0.2)


async def main():
    listen, target, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = await asyncio.start_server(lambda r, w: handle(r, w, target),
                                        '127.0.0.1', listen, reuse_address=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    task = asyncio.ensure_future(flush(path))
    async with server:
        await stop
    task.cancel()


if __name__ == '__main__':
    asyncio.run(main())
