"""watchproxy benchmark harness: real etcd shards, one watchproxy process, a paced writer and many
raw-asyncio watch clients on loopback. Entry point: `python -m bench --quick|--full`."""
