"""Every side effect of ynps_geo: reading and writing files, databases and the network."""
