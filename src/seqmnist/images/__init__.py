"""Your own pictures as MNIST-style 28x28 digits, for predict.py."""
