"""``python -m intercom_salesforce.cli``: the console script without its installed wrapper."""

import sys

from intercom_salesforce.cli.app import main

sys.exit(main())
