"""`python -m torchx.test`: another name for `python -m torchx.evaluate`, which owns the command."""

from torchx.evaluate import main

if __name__ == "__main__":
    main()
