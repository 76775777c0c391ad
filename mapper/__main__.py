from mapper._entry import main

main()
