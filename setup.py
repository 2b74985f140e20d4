"""ament_python / pip build script for mosaico_ros."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = 'mosaico_ros'

ROS_WHEELS = [
    'ros-rclpy',
    'ros-rmw-fastrtps-cpp',
    'ros-std-msgs',
    'ros-geometry-msgs',
    'ros-sensor-msgs',
    'ros-nav-msgs',
    'ros-rosgraph-msgs',
    'ros-std-srvs',
    'ros-diagnostic-msgs',
    'ros-visualization-msgs',
]


def _share(folder: str, pattern: str) -> list[tuple[str, list[str]]]:
    """Install the files of `folder` matching `pattern` into share/, if there are any."""
    files = sorted(str(path) for path in Path(folder).glob(pattern))
    return [(f'share/{PACKAGE}/{folder}', files)] if files else []


setup(
    name=PACKAGE,
    version='0.1.0',
    description='ROS 2 bridge and rosbag/MCAP ingestion toolkit for the Mosaico data platform',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(exclude=['test', 'test.*', 'bench']),
    package_data={PACKAGE: ['py.typed']},
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        *_share('launch', '*.launch.py'),
        *_share('config', '*.yaml'),
    ],
    install_requires=[
        'pyarrow>=22',
        'pydantic>=2.6',
        'click>=8.1',
        'rich>=13',
        'rosbags>=0.10',
        'mcap>=1.2',
        'mcap-ros2-support>=0.5',
        'zstandard',
        'lz4',
        'numpy>=1.24',
        'pillow>=9',
        'protobuf>=4.21',
        'ruamel.yaml>=0.17',
        'tomli>=2; python_version < "3.11"',
    ],
    extras_require={
        'ros': ROS_WHEELS,
        'test': [
            'pytest>=8',
            'pytest-timeout',
            'psutil',
            'cryptography',
            'mosaicolabs[cli]==0.7.0',
            'hypothesis>=6.100',
            'colcon-common-extensions',
            'ruff',
            'mypy',
        ],
    },
    entry_points={
        'console_scripts': [
            'mosaico-ros = mosaico_ros.cli:main',
            'recorder = mosaico_ros.nodes.recorder:main',
            'player = mosaico_ros.nodes.player:main',
        ],
    },
    zip_safe=True,
)
