/// ZooKeeper's operation codes (`ZooDefs.OpCode`).
public enum OpCode: Int32, Sendable, CaseIterable {
    case create = 1, delete = 2, exists = 3, getData = 4, setData = 5, getACL = 6, setACL = 7
    case getChildren = 8, sync = 9, ping = 11, getChildren2 = 12, check = 13, multi = 14, create2 = 15
    case checkWatches = 17, removeWatches = 18, createContainer = 19, createTTL = 21, multiRead = 22
    case auth = 100, setWatches = 101, setWatches2 = 105, addWatch = 106, whoAmI = 107
    case closeSession = -11
}

/// The xids with a meaning of their own (`ClientCnxn`).
public enum SpecialXid: Int32, Sendable {
    case notification = -1, ping = -2, auth = -4, setWatches = -8
}
