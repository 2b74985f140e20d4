"""`python -m mosaico_ros` is `mosaico-ros`."""

from mosaico_ros.cli import main

main(prog_name='mosaico-ros')
