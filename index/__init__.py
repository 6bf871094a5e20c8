"""The vector index: records and evidence sentences embedded into ChromaDB.

Modules (import them directly; this package imports nothing heavy):
  index.embedder       resolve_model / load_model (index time only: torch)
  index.query_encoder  QueryEncoder (onnxruntime + tokenizers, no torch)
  index.onnx_export    export the model to ONNX at index time
  index.vectors        VectorIndex.open(project) -> .records / .sentences collections
  index.indexer        sync(project) / check(project)
"""
