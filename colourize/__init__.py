"""CIFAR-10 colourization with the three CNNs of CSC413 A2 (questions 4-6): data, palette, models, training."""
