"""The network's own work: the charter and votes, polls and surveys, broadcasts,
reports and blocking, the coordinators' desk, exports and questions to the team."""
