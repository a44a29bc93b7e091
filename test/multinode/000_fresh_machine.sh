#!/bin/bash
# 000_fresh_machine: the Makefile on a machine that has pgxs.mk (shipped by
# postgresql-client-15) but no server headers or library headers must install
# the missing packages before its first build step (issue 10, item 6).  Run
# with a fake pg_config whose server include directory is empty; make -n
# shows what would run, without running it.
. "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."

REAL_PGXS=$(pg_config --pgxs)
fake=$TEST_TMP/pg_config
mkdir -p "$TEST_TMP/empty-include"
cat >"$fake" <<EOS
#!/bin/sh
case "\$1" in
	--pgxs) echo "$REAL_PGXS" ;;
	--includedir-server) echo "$TEST_TMP/empty-include" ;;
	*) exec pg_config "\$@" ;;
esac
EOS
chmod +x "$fake"

for target in demo test all unittest; do
	out=$(make -n PG_CONFIG="$fake" "$target" 2>&1)
	first=$(grep -v '^make' <<<"$out" | head -1)
	is "$first" "bash test/install-deps.sh" \
		"make $target without server headers installs the packages first"
done

out=$(make -n all 2>&1)
check "make all with every header present does not install anything" \
	bash -c '! grep -q install-deps <<<"$1"' _ "$out"

done_testing
