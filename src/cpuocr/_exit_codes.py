"""The exit codes of every command, in one table: ``cpuocr IMAGE...``, ``cpuocr batch``,
``cpuocr models`` and ``cpuocr serve`` return these and no others.

====  ========================  ==================================================================
code  name                      meaning
====  ========================  ==================================================================
0     ``EXIT_OK``               done (``serve``: stopped cleanly after SIGTERM/SIGINT)
1     ``EXIT_SHUTDOWN_FORCED``  ``serve``: a shutdown overran ``--graceful-timeout`` and was ended
1     ``EXIT_BATCH_STOPPED``    ``batch``: the run itself stopped (its Ray cluster failed); the
                                manifest keeps what was done, a rerun resumes
2     ``EXIT_USAGE``            bad flags or settings (unknown preset, bad variable, ...)
3     ``EXIT_BAD_INPUT``        an image could not be read (one line on stderr names the file;
                                ``batch``: some input failed, its manifest row says why)
3     ``EXIT_STARTUP_FAILURE``  ``serve``: the app failed to start (uvicorn's own code for it)
4     ``EXIT_MODELS``           model files missing or corrupt (``cpuocr models install``)
130   ``EXIT_INTERRUPTED``      interrupted by Ctrl-C (128 + SIGINT)
141   ``EXIT_BROKEN_PIPE``      the reader of the output went away (``| head``; 128 + SIGPIPE),
                                ended quietly
====  ========================  ==================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_SHUTDOWN_FORCED = 1
EXIT_BATCH_STOPPED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_STARTUP_FAILURE = 3  # == uvicorn.config.STARTUP_FAILURE (a test checks)
EXIT_MODELS = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
