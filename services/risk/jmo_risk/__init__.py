"""The risk service: stream rules on faust-streaming that flag fraud patterns before money leaves."""
