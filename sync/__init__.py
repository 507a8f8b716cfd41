"""ipsync: keep Azure NSG allow-lists in step with the published service-tag ranges.

Importing it masks secrets in every log record the process makes (:mod:`sync.logmask`).
"""

from sync.logmask import install_now_or_when_loaded as _mask_logs

__version__ = "0.1.0"

_mask_logs()
