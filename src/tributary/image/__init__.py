"""Images: a root filesystem from the published repositories, packed as container, WSL or VM disk."""
