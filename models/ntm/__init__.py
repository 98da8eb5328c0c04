"""Neural Turing Machine (Graves et al. 2014) for the copy task: an LSTM controller with one read and one write
head over a 128 x 20 external memory, trained on random bit sequences. `training/` holds the torch model, the
data and the resumable training loop; the per-time-step module is written so that it exports to ONNX."""
