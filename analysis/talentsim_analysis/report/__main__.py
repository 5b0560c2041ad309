"""`python3 -m talentsim_analysis.report INPUT... -o DIR` (what `talentsim report` runs)."""
import sys

try:
    from . import main
except ImportError as e:  # a module of Debian's python3-* packages is missing
    print(f"talentsim report: {e}: run scripts/install-deps.sh (it installs python3-matplotlib, python3-jinja2, "
          "python3-h5py, python3-pandas, python3-scipy, python3-yaml)", file=sys.stderr)
    sys.exit(1)

sys.exit(main())
