"""Which TensorFlow ops a model built elsewhere may hold: the reviewed table, and why.

An op is ALLOWED when its kernel touches nothing outside the process and the SavedModel;
every other op is refused with its category's reason, unless the person importing the model
allows the op type by name. An op type no category holds is refused as not reviewed.

* The table covers every op TensorFlow 2.15, 2.16 and 2.21 register (1,869, 1,891 and 1,910 in
  the C++ registry, 1,930 distinct names), sorted by reading what each kernel does. Allowed ops
  are listed by name, so nothing new is ever allowed by accident; refused families whose
  members share a name shape (`...Dataset`, `Xla...`, `_...`) also match a pattern, so a new
  member is refused with its family's reason. tests/unit/test_op_policy.py fails when the
  running TensorFlow registers an op (`tf.raw_ops`) no category holds.
* `container` / `shared_name` share a resource between sessions of one process, no further.
* A few allowed ops take an attribute that can name a file: they are accepted only with the
  values that do not (`ATTRIBUTE_RULES`).
* On top of this table the scan accepts the checkpoint ops of the MetaGraph's own saver when
  they are exactly what a saver builds (saver_check.py), and file reads whose path is one of
  the SavedModel's own assets (graph_scan.py).
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class Category:
    """A reviewed group of op types: all allowed, or all refused for one reason."""

    name: str
    allowed: bool
    reason: str  # for a refused category, worded to follow the op type in a message
    names: frozenset[str]
    pattern: str = ''  # refused families only: matches future members too

    def holds(self, op_type: str) -> bool:
        return op_type in self.names or bool(self.pattern and re.search(self.pattern, op_type))


# -- Allowed -------------------------------------------------------------------------------------

_GRAPH = """
Assert Batch BatchFunction Case CheckNumerics CheckNumericsV2 CheckPinned Const ControlTrigger
DeleteSessionTensor DeviceIndex EnsureShape Enter Exit FakeParam For GetSessionHandle
GetSessionHandleV2 GetSessionTensor GuaranteeConst Identity IdentityN If LoopCond Merge
NextIteration NoOp PartitionedCall Placeholder PlaceholderV2 PlaceholderWithDefault PreventGradient
Print PrintV2 RefEnter RefExit RefIdentity RefMerge RefNextIteration RefSelect RefSwitch Snapshot
StatefulPartitionedCall StatelessCase StatelessIf StatelessWhile StopGradient Switch
SymbolicGradient Timestamp Unbatch UnbatchGrad While
"""
_STATE = """
AccumulatorApplyGradient AccumulatorNumAccumulated AccumulatorSetGlobalStep AccumulatorTakeGradient
AddManySparseToTensorsMap AddSparseToTensorsMap AnonymousHashTable AnonymousMutableDenseHashTable
AnonymousMutableHashTable AnonymousMutableHashTableOfTensors ApplyAdaMax ApplyAdadelta ApplyAdagrad
ApplyAdagradDA ApplyAdagradV2 ApplyAdam ApplyAddSign ApplyCenteredRMSProp ApplyFtrl ApplyFtrlV2
ApplyGradientDescent ApplyMomentum ApplyPowerSign ApplyProximalAdagrad ApplyProximalGradientDescent
ApplyRMSProp Assign AssignAdd AssignAddVariableOp AssignSub AssignSubVariableOp AssignVariableOp
Barrier BarrierClose BarrierIncompleteSize BarrierInsertMany BarrierReadySize BarrierTakeMany
BoostedTreesAggregateStats BoostedTreesBucketize BoostedTreesCalculateBestFeatureSplit
BoostedTreesCalculateBestFeatureSplitV2 BoostedTreesCalculateBestGainsPerFeature
BoostedTreesCenterBias BoostedTreesCreateEnsemble BoostedTreesCreateQuantileStreamResource
BoostedTreesDeserializeEnsemble BoostedTreesEnsembleResourceHandleOp
BoostedTreesExampleDebugOutputs BoostedTreesFlushQuantileSummaries BoostedTreesGetEnsembleStates
BoostedTreesMakeQuantileSummaries BoostedTreesMakeStatsSummary BoostedTreesPredict
BoostedTreesQuantileStreamResourceAddSummaries BoostedTreesQuantileStreamResourceDeserialize
BoostedTreesQuantileStreamResourceFlush BoostedTreesQuantileStreamResourceGetBucketBoundaries
BoostedTreesQuantileStreamResourceHandleOp BoostedTreesSerializeEnsemble
BoostedTreesSparseAggregateStats BoostedTreesSparseCalculateBestFeatureSplit
BoostedTreesTrainingPredict BoostedTreesUpdateEnsemble BoostedTreesUpdateEnsembleV2
ConditionalAccumulator ConsumeMutexLock CountUpTo DestroyResourceOp DestroyTemporaryVariable
DisableCopyOnRead FIFOQueue FIFOQueueV2 FakeQueue HashTable HashTableV2 InitializeTable
InitializeTableV2 IsBoostedTreesEnsembleInitialized IsBoostedTreesQuantileStreamResourceInitialized
IsVariableInitialized LookupTableExport LookupTableExportV2 LookupTableFind LookupTableFindV2
LookupTableImport LookupTableImportV2 LookupTableInsert LookupTableInsertV2 LookupTableRemoveV2
LookupTableSize LookupTableSizeV2 MapClear MapIncompleteSize MapPeek MapSize MapStage MapUnstage
MapUnstageNoKey MutableDenseHashTable MutableDenseHashTableV2 MutableHashTable
MutableHashTableOfTensors MutableHashTableOfTensorsV2 MutableHashTableV2 MutexLock MutexV2 NegTrain
OrderedMapClear OrderedMapIncompleteSize OrderedMapPeek OrderedMapSize OrderedMapStage
OrderedMapUnstage OrderedMapUnstageNoKey PaddingFIFOQueue PaddingFIFOQueueV2 PriorityQueue
PriorityQueueV2 QueueClose QueueCloseV2 QueueDequeue QueueDequeueMany QueueDequeueManyV2
QueueDequeueUpTo QueueDequeueUpToV2 QueueDequeueV2 QueueEnqueue QueueEnqueueMany QueueEnqueueManyV2
QueueEnqueueV2 QueueIsClosed QueueIsClosedV2 QueueSize QueueSizeV2 RandomShuffleQueue
RandomShuffleQueueV2 ReadVariableOp ResourceAccumulatorApplyGradient
ResourceAccumulatorNumAccumulated ResourceAccumulatorSetGlobalStep ResourceAccumulatorTakeGradient
ResourceApplyAdaMax ResourceApplyAdadelta ResourceApplyAdagrad ResourceApplyAdagradDA
ResourceApplyAdagradV2 ResourceApplyAdam ResourceApplyAdamWithAmsgrad ResourceApplyAddSign
ResourceApplyCenteredRMSProp ResourceApplyFtrl ResourceApplyFtrlV2 ResourceApplyGradientDescent
ResourceApplyKerasMomentum ResourceApplyMomentum ResourceApplyPowerSign
ResourceApplyProximalAdagrad ResourceApplyProximalGradientDescent ResourceApplyRMSProp
ResourceConditionalAccumulator ResourceCountUpTo ResourceGather ResourceGatherNd ResourceScatterAdd
ResourceScatterDiv ResourceScatterMax ResourceScatterMin ResourceScatterMul ResourceScatterNdAdd
ResourceScatterNdMax ResourceScatterNdMin ResourceScatterNdSub ResourceScatterNdUpdate
ResourceScatterSub ResourceScatterUpdate ResourceSparseApplyAdadelta ResourceSparseApplyAdagrad
ResourceSparseApplyAdagradDA ResourceSparseApplyAdagradV2 ResourceSparseApplyCenteredRMSProp
ResourceSparseApplyFtrl ResourceSparseApplyFtrlV2 ResourceSparseApplyKerasMomentum
ResourceSparseApplyMomentum ResourceSparseApplyProximalAdagrad
ResourceSparseApplyProximalGradientDescent ResourceSparseApplyRMSProp ResourceStridedSliceAssign
RngReadAndSkip RngSkip ScatterAdd ScatterDiv ScatterMax ScatterMin ScatterMul ScatterNdAdd
ScatterNdMax ScatterNdMin ScatterNdSub ScatterNdUpdate ScatterSub ScatterUpdate SdcaFprint
SdcaOptimizer SdcaOptimizerV2 SdcaShrinkL1 SparseAccumulatorApplyGradient
SparseAccumulatorTakeGradient SparseApplyAdadelta SparseApplyAdagrad SparseApplyAdagradDA
SparseApplyAdagradV2 SparseApplyCenteredRMSProp SparseApplyFtrl SparseApplyFtrlV2
SparseApplyMomentum SparseApplyProximalAdagrad SparseApplyProximalGradientDescent
SparseApplyRMSProp SparseConditionalAccumulator Stack StackClose StackCloseV2 StackPop StackPopV2
StackPush StackPushV2 StackV2 Stage StageClear StagePeek StageSize StatefulRandomBinomial
StatefulStandardNormal StatefulStandardNormalV2 StatefulTruncatedNormal StatefulUniform
StatefulUniformFullInt StatefulUniformInt StridedSliceAssign TakeManySparseFromTensorsMap
TemporaryVariable TensorArray TensorArrayClose TensorArrayCloseV2 TensorArrayCloseV3
TensorArrayConcat TensorArrayConcatV2 TensorArrayConcatV3 TensorArrayGather TensorArrayGatherV2
TensorArrayGatherV3 TensorArrayGrad TensorArrayGradV2 TensorArrayGradV3 TensorArrayGradWithShape
TensorArrayPack TensorArrayRead TensorArrayReadV2 TensorArrayReadV3 TensorArrayScatter
TensorArrayScatterV2 TensorArrayScatterV3 TensorArraySize TensorArraySizeV2 TensorArraySizeV3
TensorArraySplit TensorArraySplitV2 TensorArraySplitV3 TensorArrayUnpack TensorArrayV2
TensorArrayV3 TensorArrayWrite TensorArrayWriteV2 TensorArrayWriteV3 Unstage VarHandleOp
VarIsInitializedOp Variable VariableShape VariableV2
"""
_COMPUTATION = """
Abs AccumulateNV2 Acos Acosh Add AddN AddV2 AdjustContrast AdjustContrastv2 AdjustHue
AdjustSaturation All AllCandidateSampler Angle Any ApproxTopK ApproximateEqual ArgMax ArgMin Asin
Asinh Atan Atan2 Atanh AudioMicrofrontend AudioSpectrogram AvgPool AvgPool3D AvgPool3DGrad
AvgPoolGrad BandedTriangularSolve BatchCholesky BatchCholeskyGrad BatchFFT BatchFFT2D BatchFFT3D
BatchIFFT BatchIFFT2D BatchIFFT3D BatchMatMul BatchMatMulV2 BatchMatMulV3 BatchMatrixBandPart
BatchMatrixDeterminant BatchMatrixDiag BatchMatrixDiagPart BatchMatrixInverse BatchMatrixSetDiag
BatchMatrixSolve BatchMatrixSolveLs BatchMatrixTriangularSolve BatchNormWithGlobalNormalization
BatchNormWithGlobalNormalizationGrad BatchSelfAdjointEig BatchSelfAdjointEigV2 BatchSvd
BatchToSpace BatchToSpaceND BesselI0 BesselI0e BesselI1 BesselI1e BesselJ0 BesselJ1 BesselK0
BesselK0e BesselK1 BesselK1e BesselY0 BesselY1 Betainc BiasAdd BiasAddGrad BiasAddV1 Bincount
Bitcast BitwiseAnd BitwiseOr BitwiseXor BlockLSTM BlockLSTMGrad BlockLSTMGradV2 BlockLSTMV2
BroadcastArgs BroadcastGradientArgs BroadcastTo Bucketize CSRSparseMatrixComponents
CSRSparseMatrixToDense CSRSparseMatrixToSparseTensor CTCBeamSearchDecoder CTCGreedyDecoder CTCLoss
CTCLossV2 Cast Ceil Cholesky CholeskyGrad ClipByValue CombinedNonMaxSuppression Complex ComplexAbs
ComputeAccidentalHits Concat ConcatOffset ConcatV2 Conj ConjugateTranspose Conv Conv2D
Conv2DBackpropFilter Conv2DBackpropFilterV2 Conv2DBackpropInput Conv2DBackpropInputV2 Conv3D
Conv3DBackpropFilter Conv3DBackpropFilterV2 Conv3DBackpropInput Conv3DBackpropInputV2 Cos Cosh
CropAndResize CropAndResizeGradBoxes CropAndResizeGradImage Cross Cumprod Cumsum
CumulativeLogsumexp DataFormatDimMap DataFormatVecPermute Dawsn DeepCopy DenseBincount
DenseCountSparseOutput DenseToCSRSparseMatrix DenseToDenseSetOperation DenseToSparseSetOperation
DepthToSpace DepthwiseConv2dNative DepthwiseConv2dNativeBackpropFilter
DepthwiseConv2dNativeBackpropInput Dequantize Diag DiagPart Digamma Dilation2D
Dilation2DBackpropFilter Dilation2DBackpropInput Div DivNoNan DrawBoundingBoxes DrawBoundingBoxesV2
DynamicPartition DynamicStitch EditDistance Eig Einsum Elu EluGrad Empty EmptyTensorList
EmptyTensorMap Equal Erf Erfc Erfinv EuclideanNorm Exp ExpandDims Expint Expm1 ExtractGlimpse
ExtractGlimpseV2 ExtractImagePatches ExtractVolumePatches FFT FFT2D FFT3D FFTND Fact
FakeQuantWithMinMaxArgs FakeQuantWithMinMaxArgsGradient FakeQuantWithMinMaxVars
FakeQuantWithMinMaxVarsGradient FakeQuantWithMinMaxVarsPerChannel
FakeQuantWithMinMaxVarsPerChannelGradient Fill FixedUnigramCandidateSampler Floor FloorDiv FloorMod
FractionalAvgPool FractionalAvgPoolGrad FractionalMaxPool FractionalMaxPoolGrad FresnelCos
FresnelSin FusedBatchNorm FusedBatchNormGrad FusedBatchNormGradV2 FusedBatchNormGradV3
FusedBatchNormV2 FusedBatchNormV3 FusedPadConv2D FusedResizeAndPadConv2D GRUBlockCell
GRUBlockCellGrad Gather GatherNd GatherV2 GenerateBoundingBoxProposals Greater GreaterEqual
HSVToRGB HistogramFixedWidth IFFT IFFT2D IFFT3D IFFTND IRFFT IRFFT2D IRFFT3D IRFFTND Igamma
IgammaGradA Igammac Imag ImageProjectiveTransformV2 ImageProjectiveTransformV3 InTopK InTopKV2
InplaceAdd InplaceSub InplaceUpdate Inv InvGrad Invert InvertPermutation IsFinite IsInf IsNan
IsotonicRegression KMC2ChainInitialization KmeansPlusPlusInitialization L2Loss LRN LRNGrad
LSTMBlockCell LSTMBlockCellGrad LeakyRelu LeakyReluGrad LearnedUnigramCandidateSampler LeftShift
Less LessEqual Lgamma LinSpace ListDiff Log Log1p LogMatrixDeterminant LogSoftmax
LogUniformCandidateSampler LogicalAnd LogicalNot LogicalOr LowerBound Lu MatMul MatrixBandPart
MatrixDeterminant MatrixDiag MatrixDiagPart MatrixDiagPartV2 MatrixDiagPartV3 MatrixDiagV2
MatrixDiagV3 MatrixExponential MatrixInverse MatrixLogarithm MatrixSetDiag MatrixSetDiagV2
MatrixSetDiagV3 MatrixSolve MatrixSolveLs MatrixSquareRoot MatrixTriangularSolve Max MaxPool
MaxPool3D MaxPool3DGrad MaxPool3DGradGrad MaxPoolGrad MaxPoolGradGrad MaxPoolGradGradV2
MaxPoolGradGradWithArgmax MaxPoolGradV2 MaxPoolGradWithArgmax MaxPoolV2 MaxPoolWithArgmax Maximum
Mean Mfcc Min Minimum MirrorPad MirrorPadGrad Mod Mul MulNoNan Multinomial Ndtri NearestNeighbors
Neg NextAfter NonDeterministicInts NonMaxSuppression NonMaxSuppressionV2 NonMaxSuppressionV3
NonMaxSuppressionV4 NonMaxSuppressionV5 NonMaxSuppressionWithOverlaps NotEqual NthElement OneHot
OnesLike OptionalFromValue OptionalGetValue OptionalHasValue OptionalNone Pack Pad PadV2
ParallelConcat ParallelDynamicStitch ParameterizedTruncatedNormal Polygamma PopulationCount Pow
Prod Qr QuantizeAndDequantize QuantizeAndDequantizeV2 QuantizeAndDequantizeV3
QuantizeAndDequantizeV4 QuantizeAndDequantizeV4Grad QuantizeDownAndShrinkRange QuantizeV2
QuantizedAdd QuantizedAvgPool QuantizedBatchNormWithGlobalNormalization QuantizedBiasAdd
QuantizedConcat QuantizedConcatV2 QuantizedConv2D QuantizedConv2DAndRelu
QuantizedConv2DAndReluAndRequantize QuantizedConv2DAndRequantize QuantizedConv2DPerChannel
QuantizedConv2DWithBias QuantizedConv2DWithBiasAndRelu QuantizedConv2DWithBiasAndReluAndRequantize
QuantizedConv2DWithBiasAndRequantize QuantizedConv2DWithBiasSignedSumAndReluAndRequantize
QuantizedConv2DWithBiasSumAndRelu QuantizedConv2DWithBiasSumAndReluAndRequantize
QuantizedDepthwiseConv2D QuantizedDepthwiseConv2DWithBias QuantizedDepthwiseConv2DWithBiasAndRelu
QuantizedDepthwiseConv2DWithBiasAndReluAndRequantize QuantizedInstanceNorm QuantizedMatMul
QuantizedMatMulWithBias QuantizedMatMulWithBiasAndDequantize QuantizedMatMulWithBiasAndRelu
QuantizedMatMulWithBiasAndReluAndRequantize QuantizedMatMulWithBiasAndRequantize QuantizedMaxPool
QuantizedMul QuantizedRelu QuantizedRelu6 QuantizedReluX QuantizedReshape QuantizedResizeBilinear
RFFT RFFT2D RFFT3D RFFTND RGBToHSV RaggedBincount RaggedCountSparseOutput RaggedCross
RaggedFillEmptyRows RaggedFillEmptyRowsGrad RaggedGather RaggedRange RaggedTensorFromVariant
RaggedTensorToSparse RaggedTensorToTensor RaggedTensorToVariant RaggedTensorToVariantGradient
RandomCrop RandomGamma RandomGammaGrad RandomIndexShuffle RandomPoisson RandomPoissonV2
RandomShuffle RandomStandardNormal RandomUniform RandomUniformInt Range Rank Real RealDiv
Reciprocal ReciprocalGrad Relu Relu6 Relu6Grad ReluGrad RequantizationRange
RequantizationRangePerChannel Requantize RequantizePerChannel Reshape ResizeArea ResizeBicubic
ResizeBicubicGrad ResizeBilinear ResizeBilinearGrad ResizeNearestNeighbor ResizeNearestNeighborGrad
Reverse ReverseSequence ReverseV2 RightShift Rint Roll Round Rsqrt RsqrtGrad
SampleDistortedBoundingBox SampleDistortedBoundingBoxV2 ScaleAndTranslate ScaleAndTranslateGrad
ScatterNd ScatterNdNonAliasingAdd SegmentMax SegmentMaxV2 SegmentMean SegmentMin SegmentMinV2
SegmentProd SegmentProdV2 SegmentSum SegmentSumV2 Select SelectV2 SelfAdjointEig SelfAdjointEigV2
Selu SeluGrad SetSize Shape ShapeN Sigmoid SigmoidGrad Sign Sin Sinh Size Slice SobolSample Softmax
SoftmaxCrossEntropyWithLogits Softplus SoftplusGrad Softsign SoftsignGrad SpaceToBatch
SpaceToBatchND SpaceToDepth SparseAdd SparseAddGrad SparseBincount SparseConcat
SparseCountSparseOutput SparseCross SparseCrossHashed SparseCrossV2 SparseDenseCwiseAdd
SparseDenseCwiseDiv SparseDenseCwiseMul SparseFillEmptyRows SparseFillEmptyRowsGrad SparseMatMul
SparseMatrixAdd SparseMatrixMatMul SparseMatrixMul SparseMatrixNNZ SparseMatrixOrderingAMD
SparseMatrixSoftmax SparseMatrixSoftmaxGrad SparseMatrixSparseCholesky SparseMatrixSparseMatMul
SparseMatrixTranspose SparseMatrixZeros SparseReduceMax SparseReduceMaxSparse SparseReduceSum
SparseReduceSumSparse SparseReorder SparseReshape SparseSegmentMean SparseSegmentMeanGrad
SparseSegmentMeanGradV2 SparseSegmentMeanWithNumSegments SparseSegmentSqrtN SparseSegmentSqrtNGrad
SparseSegmentSqrtNGradV2 SparseSegmentSqrtNWithNumSegments SparseSegmentSum SparseSegmentSumGrad
SparseSegmentSumGradV2 SparseSegmentSumWithNumSegments SparseSlice SparseSliceGrad SparseSoftmax
SparseSoftmaxCrossEntropyWithLogits SparseSparseMaximum SparseSparseMinimum SparseSplit
SparseTensorDenseAdd SparseTensorDenseMatMul SparseTensorToCSRSparseMatrix SparseToDense
SparseToSparseSetOperation Spence Split SplitV Sqrt SqrtGrad Square SquaredDifference Squeeze
StatelessMultinomial StatelessParameterizedTruncatedNormal StatelessRandomBinomial
StatelessRandomGammaV2 StatelessRandomGammaV3 StatelessRandomGetAlg StatelessRandomGetKeyCounter
StatelessRandomGetKeyCounterAlg StatelessRandomNormal StatelessRandomNormalV2
StatelessRandomPoisson StatelessRandomUniform StatelessRandomUniformFullInt
StatelessRandomUniformFullIntV2 StatelessRandomUniformInt StatelessRandomUniformIntV2
StatelessRandomUniformV2 StatelessSampleDistortedBoundingBox StatelessShuffle
StatelessTruncatedNormal StatelessTruncatedNormalV2 StochasticCastToInt StridedSlice
StridedSliceGrad Sub Sum Svd Tan Tanh TanhGrad TensorListConcat TensorListConcatLists
TensorListConcatV2 TensorListElementShape TensorListFromTensor TensorListGather TensorListGetItem
TensorListLength TensorListPopBack TensorListPushBack TensorListPushBackBatch TensorListReserve
TensorListResize TensorListScatter TensorListScatterIntoExistingList TensorListScatterV2
TensorListSetItem TensorListSplit TensorListStack TensorMapErase TensorMapHasKey TensorMapInsert
TensorMapLookup TensorMapSize TensorMapStackKeys TensorScatterAdd TensorScatterMax TensorScatterMin
TensorScatterSub TensorScatterUpdate TensorStridedSliceUpdate ThreadUnsafeUnigramCandidateSampler
Tile TileGrad ToBool TopK TopKV2 Transpose TridiagonalMatMul TridiagonalSolve TruncateDiv
TruncateMod TruncatedNormal UniformCandidateSampler UniformDequantize UniformQuantize
UniformQuantizedAdd UniformQuantizedClipByValue UniformQuantizedConvolution
UniformQuantizedConvolutionHybrid UniformQuantizedDot UniformQuantizedDotHybrid UniformRequantize
Unique UniqueV2 UniqueWithCounts UniqueWithCountsV2 Unpack UnravelIndex UnsortedSegmentMax
UnsortedSegmentMin UnsortedSegmentProd UnsortedSegmentSum UpperBound Where Xdivy Xlog1py Xlogy
ZerosLike Zeta
"""
_STRINGS = """
AsString DecodeBase64 EncodeBase64 Fingerprint ReduceJoin RegexFullMatch RegexReplace
ShardedFilename ShardedFilespec StaticRegexFullMatch StaticRegexReplace StringFormat StringJoin
StringLength StringLower StringNGrams StringSplit StringSplitV2 StringStrip StringToHashBucket
StringToHashBucketFast StringToHashBucketStrong StringToNumber StringUpper Substr UnicodeDecode
UnicodeDecodeWithOffsets UnicodeEncode UnicodeScript UnicodeTranscode UnsortedSegmentJoin
"""
_PARSING = """
CompositeTensorVariantFromComponents CompositeTensorVariantToComponents DecodeAndCropJpeg DecodeBmp
DecodeCSV DecodeCompressed DecodeGif DecodeImage DecodeJSONExample DecodeJpeg DecodeJxl
DecodePaddedRaw DecodePng DecodeProtoV2 DecodeRaw DecodeWav DecodeWebP DeserializeManySparse
DeserializeSparse EncodeJpeg EncodeJpegVariableQuality EncodePng EncodeProto EncodeWav
ExtractJpegShape ParseExample ParseExampleV2 ParseSequenceExample ParseSequenceExampleV2
ParseSingleExample ParseSingleSequenceExample ParseTensor SerializeManySparse SerializeSparse
SerializeTensor
"""
_SUMMARIES = """
AudioSummary AudioSummaryV2 HistogramSummary ImageSummary MergeSummary ScalarSummary TensorSummary
TensorSummaryV2
"""

# -- Refused -------------------------------------------------------------------------------------

_INTERNAL = """
CustomAggregator GetCalibrationDataOp HostConst MakeWeakResourceHandle
"""
_FILES = """
CalibrationStatisticsSaver DumpTensor FileSystemSetConfiguration GenerateVocabRemapping
ImmutableConst InitializeTableFromTextFile InitializeTableFromTextFileV2 LoadAndRemapMatrix
MatchingFiles ReadFile RecordInput Skipgram WriteFile
"""
_CHECKPOINTS = """
MergeV2Checkpoints Restore RestoreSlice RestoreV2 Save SaveSlices SaveV2
"""
_SUMMARY_WRITERS = """
CreateSummaryDbWriter CreateSummaryFileWriter ImportEvent
"""
_FOREIGN_CODE = """
EagerPyFunc MlirPassthroughOp PyFunc PyFuncStateless TfLiteSubgraphExecute
"""
_DEBUG = """
Copy CopyHost
"""
_DATASETS = """
AnonymousMemoryCache AnonymousRandomSeedGenerator AnonymousSeedGenerator CompressElement
ComputeBatchSize DeleteMemoryCache DeleteRandomSeedGenerator DeleteSeedGenerator DistributedSave
DummyIterationCounter DummyMemoryCache DummySeedGenerator ExperimentalStatsAggregatorHandle
ExperimentalStatsAggregatorSummary ExperimentalThreadPoolHandle GetElementAtIndex GetOptions
InitializeTableFromDataset MapDefun StatsAggregatorHandle StatsAggregatorHandleV2
StatsAggregatorSummary ThreadPoolHandle UncompressElement WindowOp
"""
_DISTRIBUTED = """
AllToAll CrossReplicaSum Recv RemoteCall Send WorkerHeartbeat
"""
_ACCELERATORS = """
ConvertToCooTensor CopyToMesh CopyToMeshGrad GlobalIterId KthOrderStatistic MakeUnique Relayout
RelayoutLike SyncDevice TopKUnique TopKWithUnique UpdateTaskIdAndGlobalCoreArray
"""
_PROCESS = """
Abort
"""
_TEST = """
A Attr AttrBool AttrBoolList AttrDefault AttrEmptyListDefault AttrEnum AttrEnumList AttrFloat
AttrListDefault AttrListMin AttrListTypeDefault AttrMin AttrPartialShape AttrPartialShapeList
AttrShape AttrShapeList AttrTypeDefault B Binary ComplexStruct ConstructionFails CopyOp
DefaultAttrs DevicePlacementOp DtypeWithDefaultOp FiveFloatOutputs FloatInput FloatOutput
FloatOutputStringOutput Foo1 Foo2 Foo3 FuncAttr FuncListAttr GetDeadline GraphDefVersion
InPolymorphicTwice Int64Output IntAttr IntInput IntInputFloatInput IntInputIntOutput IntOutput
IntOutputFloatOutput IsResourceHandleRefCounting IsTensorFloat32Enabled KernelLabel
KernelLabelRequired ListInput ListOutput MixedStruct NInPolymorphicTwice NInTwice
NInTwoTypeVariables NIntsIn NIntsOut NIntsOutDefault NPolymorphicIn NPolymorphicOut
NPolymorphicOutDefault NPolymorphicRestrictIn NPolymorphicRestrictOut Namespace>TestStringOutput
None Old OpWithDefaultAttr OpWithFutureDefaultAttr OutT OutTypeList OutTypeListRestrict Polymorphic
PolymorphicDefaultOut PolymorphicOut RefIn RefInputFloatInput RefInputFloatInputIntOutput
RefInputIntInput RefOut RefOutput RefOutputFloatOutput RequiresOlderGraphVersion ReservedAttr
ReservedInput ResourceCreateOp ResourceInitializedOp ResourceUsingOp Restrict Simple SimpleStruct
SleepIdentityOp SleepOp StringListAttr StubResourceHandleOp TestAttr TestStringOutput
TwoFloatInputs TwoFloatInputsFloatOutput TwoFloatInputsIntOutput TwoFloatOutputs TwoIntInputs
TwoIntOutputs TwoRefsIn TypeList TypeListRestrict TypeListTwice Unary
"""

# name: (names, reason). Allowed first.
_ALLOWED = {
    'graph': (_GRAPH, 'graph plumbing, control flow, function calls (their functions are scanned)'),
    'state': (_STATE, 'variables, optimizer updates, lookup tables, queues: resources in-process'),
    'computation': (_COMPUTATION, 'math, arrays, nn, images, random, sparse: tensors in and out'),
    'strings': (_STRINGS, 'string kernels over tensors (ShardedFilename only formats a name)'),
    'parsing': (_PARSING, 'parse and encode tensors: tf.Example, CSV, JSON, images, audio, protos'),
    'summaries': (_SUMMARIES, 'build summary protos as string tensors (writing them is refused)'),
}
_REFUSED = {
    'internal': (_INTERNAL, "is placed by TensorFlow's runtime while a graph runs, never exported"),
    'files': (_FILES, 'reads, writes, lists or maps files of the host'),
    'checkpoints': (_CHECKPOINTS, "reads or writes checkpoints; only the MetaGraph's saver may"),
    'summary_writers': (_SUMMARY_WRITERS, 'writes event files or a summary database'),
    'foreign_code': (_FOREIGN_CODE, 'runs code that is not a TensorFlow kernel (Python, MLIR)'),
    'debug': (_DEBUG, 'sends tensors to debugger URLs (file:// or grpc://)'),
    'datasets': (_DATASETS, 'belongs to tf.data pipelines: file readers, caches, remote service'),
    'distributed': (_DISTRIBUTED, 'exchanges tensors with other devices or processes'),
    'accelerators': (_ACCELERATORS, 'needs TPU, XLA, TensorRT, DTensor or cuDNN machinery'),
    'process': (_PROCESS, 'ends the process'),
    'test': (_TEST, "is registered only for TensorFlow's own tests"),
}
_PATTERNS = {
    'internal': r'^_',
    'files': r'^Reader|Reader(V2)?$',
    'summary_writers': r'^Write\w*Summary$|SummaryWriter',
    'debug': r'^Debug',
    'datasets': r'Dataset|Iterator',
    'distributed': r'^Collective|^Nccl|Rpc',
    'accelerators': r'Xla|TPU|Tpu|^Risc|^DTensor|TRT|^Infeed|^Outfeed|^Prelinearize|SparseCore'
    r'|Minibatch|DedupData|^Cudnn',
}
ALLOWED = tuple(
    Category(name, True, reason, frozenset(names.split()))
    for name, (names, reason) in _ALLOWED.items()
)
REFUSED = tuple(
    Category(name, False, reason, frozenset(names.split()), _PATTERNS.get(name, ''))
    for name, (names, reason) in _REFUSED.items()
)
CATEGORIES = ALLOWED + REFUSED


def classify(op_type: str) -> Category | None:
    """The category that holds `op_type` (listed names first, then patterns), or None."""
    for category in CATEGORIES:
        if op_type in category.names:
            return category
    return next((c for c in REFUSED if c.pattern and re.search(c.pattern, op_type)), None)


@dataclasses.dataclass(frozen=True)
class AttributeRule:
    """An allowed op's attribute that can name a file, and the values that do not."""

    attr: str
    accepted: frozenset[str]  # an absent attribute takes its default, which is one of these
    reason: str


_DESCRIPTORS = AttributeRule(
    'descriptor_source',
    frozenset({'local://'}),
    'names where proto descriptors come from; any other value is a file the kernel reads',
)
ATTRIBUTE_RULES: dict[str, AttributeRule] = {
    'PrintV2': AttributeRule(
        'output_stream',
        frozenset({'stderr', 'stdout', 'log(info)', 'log(warning)', 'log(error)'}),
        'names where the text goes; any other value is a file the kernel appends to',
    ),
    'DecodeProtoV2': _DESCRIPTORS,
    'EncodeProto': _DESCRIPTORS,
    'FixedUnigramCandidateSampler': AttributeRule(
        'vocab_file', frozenset({''}), 'names a vocabulary file the kernel reads when created'
    ),
}
