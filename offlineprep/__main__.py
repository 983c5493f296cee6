from offlineprep.cli import main

main()
