import CorralRuntime

/// One change the executor tells its subscribers (the cluster membership): a
/// workload's new state, or the executor's own cluster state.
public enum ExecutorChange: Sendable {
    case workload(InstanceInfo)
    case clusterState(ExecutorNodeData.State)
}
