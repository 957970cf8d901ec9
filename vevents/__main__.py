from vevents.cli import main

main()
