__version__ = "0.0.1"

# A known third-party warning, filtered where it is raised (the package is imported before any of its modules):
# fastai.layers decorates helpers with `torch.jit.script` at import, which torch 2.14 deprecates with a FutureWarning.
# It says nothing about this study, so it never reaches a chapter's page or the log; other warnings still do.
import warnings as _warnings
_warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
