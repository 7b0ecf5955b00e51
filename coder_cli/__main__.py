from coder_cli.entry import main

main()
