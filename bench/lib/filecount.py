#!/usr/bin/env python3
"""bench/lib/filecount.py DIR NAME COUNT_FILE

Counts how often the file DIR/NAME is written (closed after writing, or
renamed into place), with inotify, for bench/compare: pgha's keeper writes
its heartbeat file once per loop, so the count is its loop cycles.
COUNT_FILE is rewritten at most every 0.2 s with the count.  Ends on
SIGTERM.
"""
import ctypes
import os
import select
import signal
import struct
import sys
import time

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080

libc = ctypes.CDLL(None, use_errno=True)


def main():
    d, name, out = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0 or libc.inotify_add_watch(fd, d.encode(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0:
        sys.exit('filecount: inotify on %s failed' % d)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    n, written, last = 0, -1, 0.0
    while True:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            data = os.read(fd, 65536)
            i = 0
            while i + 16 <= len(data):
                _, mask, _, ln = struct.unpack_from('iIII', data, i)
                fname = data[i + 16:i + 16 + ln].rstrip(b'\0')
                if fname == name:
                    n += 1
                i += 16 + ln
        now = time.monotonic()
        if n != written and now - last >= 0.2:
            tmp = out + '.tmp'
            with open(tmp, 'w') as f:
                f.write('%d\n' % n)
            os.replace(tmp, out)
            written, last = n, now


if __name__ == '__main__':
    main()
