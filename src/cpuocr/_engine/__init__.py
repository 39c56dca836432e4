"""The engine: the stages (imaging, preprocess, detection, orientation, recognition, assemble),
the runtime backends, the model store, the engine's configuration and the OCR pipeline.

Private: the public face is :mod:`cpuocr`. Nothing here imports a door (serving, CLI, benchmark).
"""
