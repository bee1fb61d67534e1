"""Allow `python -m tagih.cli`."""

from tagih.cli.main import main

main()
