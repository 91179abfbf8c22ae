"""Classical learning: data, the CIFAR ResNet family, pruning and training."""
