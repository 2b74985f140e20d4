"""mosaico_ros: the ROS 2 bridge and rosbag/MCAP ingestion toolkit for Mosaico."""
