"""Python client of GrmWorker (generative reward model scoring over RabbitMQ) and TRL / verl reward adapters."""
from .client import GrmClient, request_id_for_key
from .result import GrmClientClosed, GrmError, GrmJobError, GrmPublishError, Result

__version__ = "0.1.0"
__all__ = ["GrmClient", "Result", "GrmError", "GrmJobError", "GrmPublishError", "GrmClientClosed",
           "request_id_for_key", "__version__"]
