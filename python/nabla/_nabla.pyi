"""Type stubs of the compiled module (nabla's Rust half); the public API is ``nabla``."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

Arrays = Dict[str, npt.NDArray[np.float64]]

def operator_names() -> List[str]: ...
def cloud_derivatives(
    points_: npt.NDArray[np.float64],
    values_: npt.NDArray[np.float64],
    ops: Sequence[str],
    at: Optional[npt.NDArray[np.float64]],
    name: str,
    degree: int,
    neighbours: Optional[int],
    weights: str,
    dim: Optional[int],
    chunk_size: int,
) -> Tuple[Arrays, Dict[str, Any]]: ...
def mesh_derivatives(
    mesh: Mesh,
    names: Sequence[str],
    ops: Sequence[str],
    at: Union[str, npt.NDArray[np.float64]],
    samples: Optional[str],
    stencil: Optional[str],
    name: str,
    degree: int,
    neighbours: Optional[int],
    weights: str,
    dim: Optional[int],
    chunk_size: int,
) -> Tuple[Arrays, Dict[str, Any], str]: ...
def evaluate(
    components: Sequence[str],
    at: npt.NDArray[np.float64],
    ops: Sequence[str],
    constants: Sequence[Tuple[str, float]],
    definitions: Sequence[Tuple[str, str]],
    time: float,
    name: str,
    chunk_size: int,
) -> Arrays: ...
def read(path: str, time: Optional[str] = None) -> Mesh: ...
def write(
    path: str,
    mesh: Mesh,
    arrays: Optional[Dict[str, npt.NDArray[np.float64]]] = None,
    cell_arrays: Optional[Dict[str, npt.NDArray[np.float64]]] = None,
) -> None: ...
def run_case(
    dir: str, quiet: bool, strict: bool, resume: bool, evaluate_only: bool, output: Optional[str]
) -> Dict[str, Any]: ...

class Mesh:
    def __init__(
        self,
        points: npt.NDArray[np.float64],
        connectivity: Optional[npt.NDArray[np.uint64]] = None,
        offsets: Optional[npt.NDArray[np.uint64]] = None,
        types: Optional[npt.NDArray[np.uint8]] = None,
        point_data: Optional[Dict[str, npt.NDArray[np.float64]]] = None,
        cell_data: Optional[Dict[str, npt.NDArray[np.float64]]] = None,
    ) -> None: ...
    @property
    def points(self) -> npt.NDArray[np.float64]: ...
    @property
    def dim(self) -> int: ...
    @property
    def num_points(self) -> int: ...
    @property
    def num_cells(self) -> int: ...
    @property
    def point_data(self) -> Arrays: ...
    @property
    def cell_data(self) -> Arrays: ...
    @property
    def cells(self) -> Optional[Tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint8]]]: ...
    @property
    def patches(self) -> List[Dict[str, Any]]: ...
    def cell_centres(self) -> npt.NDArray[np.float64]: ...

class Network:
    @staticmethod
    def load(path: str) -> Network: ...
    @property
    def inputs(self) -> int: ...
    @property
    def outputs(self) -> int: ...
    @property
    def num_params(self) -> int: ...
    @property
    def unknowns(self) -> List[float]: ...
    @property
    def history_len(self) -> int: ...
    def predict(self, at: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def evaluate(
        self,
        at: npt.NDArray[np.float64],
        ops: Sequence[str],
        components: Optional[Sequence[int]],
        name: str,
        chunk_size: int,
    ) -> Arrays: ...
