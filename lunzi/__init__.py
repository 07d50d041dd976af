"""lunzi: a small TF1-style module library (graphs, sessions, variable scopes) on TF 2.x.

`lunzi.config`, `lunzi.logger` and `lunzi.dataset` need no TensorFlow; `lunzi.nn` sets TF up."""
