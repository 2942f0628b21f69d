"""The contract suite: checks any Trouble Ticket endpoint against spec/openapi.yaml."""
