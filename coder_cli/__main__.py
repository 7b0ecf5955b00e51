from coder_cli.cli.app import main

main()
