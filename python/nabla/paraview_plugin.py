"""nabla's derivatives inside ParaView: the filter "nabla Derivatives".

Load it in pvpython with ``LoadPlugin(nabla.paraview_plugin(), ns=globals())``, or in
the GUI with Tools → Manage Plugins → Load New (this file; ``nabla.paraview_plugin()``
prints where it is); the Python package ``nabla`` must be importable by ParaView's Python
(``pip install`` it into that Python, or put its folder on ``PYTHONPATH``). The filter differentiates one point or cell array of any dataset with
nabla's exact reconstruction — the same call as ``nabla.compute_derivatives``, so the
numbers are bit for bit those of the command line on the same file — and adds the arrays
the check boxes ask for, named as the command line names them (``grad(U)``, ``Q(U)``, ...).
Cell data (a finite-volume solver's values) gives cell data, point data gives point data.
A multiblock input (ParaView's OpenFOAM reader, foamToVTK's ``.vtm``) is differentiated
block by block: each block that has the array gets the new arrays (the internal mesh from
its own cell values; open the case directory with nabla itself to use the patches' values
too), the others pass through unchanged.
"""

import sys

from paraview.util.vtkAlgorithm import smdomain, smhint, smproperty, smproxy
from vtkmodules.util.vtkAlgorithm import VTKPythonAlgorithmBase
from vtkmodules.vtkCommonDataModel import vtkDataObject

# (check box label, operator, needs a vector of 3 components, on by default)
OPERATORS = [
    ("Gradient", "grad", False, True),
    ("Divergence", "div", True, False),
    ("Vorticity", "vorticity", True, True),
    ("QCriterion", "Q", True, True),
    ("Lambda2", "lambda2", True, False),
    ("SwirlingStrength", "lambda_ci", True, False),
    ("Laplacian", "lap", False, False),
    ("StrainRate", "strain_rate", True, False),
    ("Helicity", "helicity", True, False),
    ("Enstrophy", "enstrophy", True, False),
]

SAMPLES = ["auto", "cells", "points"]


def _flag(name, default):
    """A check box property that sets operator `name`."""

    def setter(self, value):
        if self._ops.get(name) != bool(value):
            self._ops[name] = bool(value)
            self.Modified()

    setter.__name__ = "Set" + name
    prop = smproperty.intvector(name=name, default_values=int(default))
    return prop(smdomain.xml('<BooleanDomain name="bool" />')(setter))


@smproxy.filter(name="nablaDerivatives", label="nabla Derivatives")
@smhint.xml('<ShowInMenu category="nabla" />')
@smproperty.input(name="Input", port_index=0)
@smdomain.datatype(dataTypes=["vtkDataSet", "vtkCompositeDataSet"], composite_data_supported=True)
class NablaDerivatives(VTKPythonAlgorithmBase):
    """Exact derivatives of a point or cell array (see the module's documentation)."""

    def __init__(self):
        super().__init__(nInputPorts=1, nOutputPorts=1, outputType="vtkDataObject")
        self._array = None
        self._degree = 2
        self._neighbours = 0
        self._samples = "auto"
        self._ops = {label: default for label, _, _, default in OPERATORS}

    def FillInputPortInformation(self, port, info):
        info.Set(self.INPUT_REQUIRED_DATA_TYPE(), "vtkDataObject")
        return 1

    def RequestDataObject(self, request, inInfo, outInfo):
        # The output is a data object of the input's type (a dataset, or a multiblock).
        inp = vtkDataObject.GetData(inInfo[0])
        out = vtkDataObject.GetData(outInfo)
        if inp is not None and (out is None or not out.IsA(inp.GetClassName())):
            out = inp.NewInstance()
            outInfo.GetInformationObject(0).Set(vtkDataObject.DATA_OBJECT(), out)
        return 1

    @smproperty.xml(
        """<StringVectorProperty name="SelectInputArray" label="Array" command="SetArray"
             number_of_elements="5" element_types="0 0 0 0 2" animateable="0">
             <ArrayListDomain name="array_list" input_domain_name="input_array">
               <RequiredProperties><Property name="Input" function="Input" /></RequiredProperties>
             </ArrayListDomain>
             <Documentation>The point or cell array to differentiate.</Documentation>
           </StringVectorProperty>"""
    )
    def SetArray(self, idx, port, connection, association, name):
        if self._array != (int(association), name):
            self._array = (int(association), name)
            self.Modified()

    @smproperty.intvector(name="Degree", default_values=2)
    @smdomain.intrange(min=1, max=4)
    def SetDegree(self, value):
        if self._degree != int(value):
            self._degree = int(value)
            self.Modified()

    @smproperty.intvector(name="Neighbours", default_values=0)
    @smdomain.intrange(min=0, max=200)
    def SetNeighbours(self, value):
        """Samples per stencil; 0 for nabla's default (twice or three times the monomials)."""
        if self._neighbours != int(value):
            self._neighbours = int(value)
            self.Modified()

    @smproperty.xml(
        """<IntVectorProperty name="Samples" command="SetSamples" number_of_elements="1" default_values="0">
             <EnumerationDomain name="enum">
               <Entry value="0" text="auto (the solver's cell values where the array is cell data)" />
               <Entry value="1" text="cells (cell values at centres, plus boundary values)" />
               <Entry value="2" text="points (point values)" />
             </EnumerationDomain>
           </IntVectorProperty>"""
    )
    def SetSamples(self, value):
        if self._samples != SAMPLES[int(value)]:
            self._samples = SAMPLES[int(value)]
            self.Modified()

    for _label, _op, _vector, _default in OPERATORS:
        locals()["Set" + _label] = _flag(_label, _default)
    del _label, _op, _vector, _default

    def _one(self, ds, association, name, whole):
        """``ds`` with the derivatives added; ``ds`` itself where it lacks the array (or,
        for a block of a multiblock, where nabla refuses it: said on stderr); None when a
        whole input fails."""
        import nabla

        data = ds.GetCellData() if association == 1 else ds.GetPointData()
        array = data.GetArray(name)
        if array is None:
            if whole:
                print(f"nabla Derivatives: the input has no array '{name}'", file=sys.stderr)
                return None
            return ds
        vector = array.GetNumberOfComponents() == 3
        ops = [op for label, op, needs_vector, _ in OPERATORS if self._ops[label] and (vector or not needs_vector)]
        if not ops:
            return ds
        samples = {"auto": "cells" if association == 1 else "points"}.get(self._samples, self._samples)
        try:
            return nabla.compute_derivatives(
                ds,
                name,
                ops,
                degree=self._degree,
                neighbours=self._neighbours or None,
                samples=samples,
            )
        except nabla.NablaError as e:
            print(f"nabla Derivatives: {e}", file=sys.stderr)
            return None if whole else ds

    def RequestData(self, request, inInfo, outInfo):
        inp = vtkDataObject.GetData(inInfo[0])
        out = vtkDataObject.GetData(outInfo)
        if self._array is None:
            print("nabla Derivatives: choose an array", file=sys.stderr)
            return 0
        association, name = self._array
        if not inp.IsA("vtkCompositeDataSet"):
            result = self._one(inp, association, name, whole=True)
            if result is None:
                return 0
            out.ShallowCopy(result)
            return 1
        out.CopyStructure(inp)
        it = inp.NewIterator()
        it.InitTraversal()
        while not it.IsDoneWithTraversal():
            block = it.GetCurrentDataObject()
            if block is not None and block.IsA("vtkDataSet") and block.GetNumberOfPoints() > 0:
                out.SetDataSet(it, self._one(block, association, name, whole=False))
            else:
                out.SetDataSet(it, block)
            it.GoToNextItem()
        return 1
