"""Pools split in shards: each shard indexes and ranks its own records, the front end merges their
answers into what one node holding the whole pool answers (cerebro_serve/cluster/shard_ranking.py)."""
