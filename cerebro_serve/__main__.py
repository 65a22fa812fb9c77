from cerebro_serve.cli import main

raise SystemExit(main())
