from pmbot.cli import main

raise SystemExit(main())
