"""End-to-End Memory Network (Sukhbaatar et al. 2015) for bAbI question answering: a story read into memory,
a question answered by attending over it in several hops. `training/` holds the torch model, the bAbI data
and the training loop; what serving imports (text handling, vocabulary) lives here."""
