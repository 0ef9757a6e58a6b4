"""`python -m mreg`: same as the `mreg` console script."""

from mreg.cli.main import main

main()
