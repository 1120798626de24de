from lince.cli import main

main()
