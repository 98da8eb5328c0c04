"""Export shipped checkpoints to ONNX and TorchScript graphs under build/models/<model>/."""
