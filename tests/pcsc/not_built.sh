#!/bin/sh
# Stands in for dmcard_pcsc_tests when libpcsclite was missing at configure time, so that the
# missing suite shows in ctest: skipped, or failed under CI (CI=true) as root, where the suite
# must run (issue 7 item 9).
reason='libpcsclite-dev was missing when the build was configured, so the PC/SC tests were not built (apt-get install libpcsclite-dev, or scripts/install-deps.sh; then configure again)'
case "${CI:-}" in
  '' | 0 | false | no) ci=no ;;
  *) ci=yes ;;
esac
if [ "$ci" = yes ] && [ "$(id -u)" = 0 ]; then
  echo "dmcard-pcsc: every test FAILED (CI=true as root, the suite must run): $reason"
  exit 1
fi
# ctest's SKIP_REGULAR_EXPRESSION matches this line.
echo "dmcard-pcsc: every test skipped: $reason"
