# cython: language_level=3, embedsignature=True
# distutils: language = c
"""The Cython core of sipsimple: PJSIP, PJMEDIA and PJNATH behind a Python API.

One module, split by area into .pxi files included below. The public Python
names are re-exported by sipsimple.core; the Engine itself is pure Python
(sipsimple/core/_engine.py) and drives the PJSIPUA defined in ua.pxi.
"""

cimport cython
from sipsimple.core._pjsip cimport *

include "util.pxi"
include "headers.pxi"
include "sdp.pxi"
include "ua.pxi"
include "sound.pxi"
include "request.pxi"
include "subscription.pxi"
include "referral.pxi"
include "invitation.pxi"
include "transfer.pxi"
include "mediatransport.pxi"

PJSIP_VERSION = PJ_VERSION.decode()
