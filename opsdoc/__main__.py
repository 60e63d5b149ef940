from opsdoc.cli import main

main()
