"""DVLA auction results into ``sales``: the scheduled fetch of known auction events (``events``),
the import of one file (``importer``) and the command line (``__main__``); the reading itself is
:mod:`services.core.dvla_results`, shared with every other path that reads results."""
