from watchproxy.cli import main

raise SystemExit(main())
