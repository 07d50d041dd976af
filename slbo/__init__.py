"""SLBO with value-aware model learning, as TF1 graphs on TensorFlow 2.x."""
