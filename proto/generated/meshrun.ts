import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AddUserReply as _meshrun_v1_AddUserReply, AddUserReply__Output as _meshrun_v1_AddUserReply__Output } from './meshrun/v1/AddUserReply.js';
import type { AddUserRequest as _meshrun_v1_AddUserRequest, AddUserRequest__Output as _meshrun_v1_AddUserRequest__Output } from './meshrun/v1/AddUserRequest.js';
import type { ArtifactChunk as _meshrun_v1_ArtifactChunk, ArtifactChunk__Output as _meshrun_v1_ArtifactChunk__Output } from './meshrun/v1/ArtifactChunk.js';
import type { Attempt as _meshrun_v1_Attempt, Attempt__Output as _meshrun_v1_Attempt__Output } from './meshrun/v1/Attempt.js';
import type { AuditEntry as _meshrun_v1_AuditEntry, AuditEntry__Output as _meshrun_v1_AuditEntry__Output } from './meshrun/v1/AuditEntry.js';
import type { AuditList as _meshrun_v1_AuditList, AuditList__Output as _meshrun_v1_AuditList__Output } from './meshrun/v1/AuditList.js';
import type { AuditRequest as _meshrun_v1_AuditRequest, AuditRequest__Output as _meshrun_v1_AuditRequest__Output } from './meshrun/v1/AuditRequest.js';
import type { BlobChunk as _meshrun_v1_BlobChunk, BlobChunk__Output as _meshrun_v1_BlobChunk__Output } from './meshrun/v1/BlobChunk.js';
import type { BlobRef as _meshrun_v1_BlobRef, BlobRef__Output as _meshrun_v1_BlobRef__Output } from './meshrun/v1/BlobRef.js';
import type { CreateScheduleRequest as _meshrun_v1_CreateScheduleRequest, CreateScheduleRequest__Output as _meshrun_v1_CreateScheduleRequest__Output } from './meshrun/v1/CreateScheduleRequest.js';
import type { Failure as _meshrun_v1_Failure, Failure__Output as _meshrun_v1_Failure__Output } from './meshrun/v1/Failure.js';
import type { Handoff as _meshrun_v1_Handoff, Handoff__Output as _meshrun_v1_Handoff__Output } from './meshrun/v1/Handoff.js';
import type { Identity as _meshrun_v1_Identity, Identity__Output as _meshrun_v1_Identity__Output } from './meshrun/v1/Identity.js';
import type { Job as _meshrun_v1_Job, Job__Output as _meshrun_v1_Job__Output } from './meshrun/v1/Job.js';
import type { JobList as _meshrun_v1_JobList, JobList__Output as _meshrun_v1_JobList__Output } from './meshrun/v1/JobList.js';
import type { JobRef as _meshrun_v1_JobRef, JobRef__Output as _meshrun_v1_JobRef__Output } from './meshrun/v1/JobRef.js';
import type { JobRun as _meshrun_v1_JobRun, JobRun__Output as _meshrun_v1_JobRun__Output } from './meshrun/v1/JobRun.js';
import type { JoinReply as _meshrun_v1_JoinReply, JoinReply__Output as _meshrun_v1_JoinReply__Output } from './meshrun/v1/JoinReply.js';
import type { JoinRequest as _meshrun_v1_JoinRequest, JoinRequest__Output as _meshrun_v1_JoinRequest__Output } from './meshrun/v1/JoinRequest.js';
import type { JoinTokenReply as _meshrun_v1_JoinTokenReply, JoinTokenReply__Output as _meshrun_v1_JoinTokenReply__Output } from './meshrun/v1/JoinTokenReply.js';
import type { JoinTokenRequest as _meshrun_v1_JoinTokenRequest, JoinTokenRequest__Output as _meshrun_v1_JoinTokenRequest__Output } from './meshrun/v1/JoinTokenRequest.js';
import type { ListJobsRequest as _meshrun_v1_ListJobsRequest, ListJobsRequest__Output as _meshrun_v1_ListJobsRequest__Output } from './meshrun/v1/ListJobsRequest.js';
import type { ListNodesRequest as _meshrun_v1_ListNodesRequest, ListNodesRequest__Output as _meshrun_v1_ListNodesRequest__Output } from './meshrun/v1/ListNodesRequest.js';
import type { ListSchedulesRequest as _meshrun_v1_ListSchedulesRequest, ListSchedulesRequest__Output as _meshrun_v1_ListSchedulesRequest__Output } from './meshrun/v1/ListSchedulesRequest.js';
import type { ListUsersRequest as _meshrun_v1_ListUsersRequest, ListUsersRequest__Output as _meshrun_v1_ListUsersRequest__Output } from './meshrun/v1/ListUsersRequest.js';
import type { LogData as _meshrun_v1_LogData, LogData__Output as _meshrun_v1_LogData__Output } from './meshrun/v1/LogData.js';
import type { LogEvent as _meshrun_v1_LogEvent, LogEvent__Output as _meshrun_v1_LogEvent__Output } from './meshrun/v1/LogEvent.js';
import type { LogGap as _meshrun_v1_LogGap, LogGap__Output as _meshrun_v1_LogGap__Output } from './meshrun/v1/LogGap.js';
import type { LogsRequest as _meshrun_v1_LogsRequest, LogsRequest__Output as _meshrun_v1_LogsRequest__Output } from './meshrun/v1/LogsRequest.js';
import type { MeshEdge as _meshrun_v1_MeshEdge, MeshEdge__Output as _meshrun_v1_MeshEdge__Output } from './meshrun/v1/MeshEdge.js';
import type { MeshJoinReply as _meshrun_v1_MeshJoinReply, MeshJoinReply__Output as _meshrun_v1_MeshJoinReply__Output } from './meshrun/v1/MeshJoinReply.js';
import type { MeshJoinRequest as _meshrun_v1_MeshJoinRequest, MeshJoinRequest__Output as _meshrun_v1_MeshJoinRequest__Output } from './meshrun/v1/MeshJoinRequest.js';
import type { MeshLeaveReply as _meshrun_v1_MeshLeaveReply, MeshLeaveReply__Output as _meshrun_v1_MeshLeaveReply__Output } from './meshrun/v1/MeshLeaveReply.js';
import type { MeshLeaveRequest as _meshrun_v1_MeshLeaveRequest, MeshLeaveRequest__Output as _meshrun_v1_MeshLeaveRequest__Output } from './meshrun/v1/MeshLeaveRequest.js';
import type { MeshMember as _meshrun_v1_MeshMember, MeshMember__Output as _meshrun_v1_MeshMember__Output } from './meshrun/v1/MeshMember.js';
import type { MeshPeer as _meshrun_v1_MeshPeer, MeshPeer__Output as _meshrun_v1_MeshPeer__Output } from './meshrun/v1/MeshPeer.js';
import type { MeshRotateReply as _meshrun_v1_MeshRotateReply, MeshRotateReply__Output as _meshrun_v1_MeshRotateReply__Output } from './meshrun/v1/MeshRotateReply.js';
import type { MeshStatusReply as _meshrun_v1_MeshStatusReply, MeshStatusReply__Output as _meshrun_v1_MeshStatusReply__Output } from './meshrun/v1/MeshStatusReply.js';
import type { MeshStatusRequest as _meshrun_v1_MeshStatusRequest, MeshStatusRequest__Output as _meshrun_v1_MeshStatusRequest__Output } from './meshrun/v1/MeshStatusRequest.js';
import type { MeshrunClient as _meshrun_v1_MeshrunClient, MeshrunDefinition as _meshrun_v1_MeshrunDefinition } from './meshrun/v1/Meshrun.js';
import type { Node as _meshrun_v1_Node, Node__Output as _meshrun_v1_Node__Output } from './meshrun/v1/Node.js';
import type { NodeList as _meshrun_v1_NodeList, NodeList__Output as _meshrun_v1_NodeList__Output } from './meshrun/v1/NodeList.js';
import type { NodeRef as _meshrun_v1_NodeRef, NodeRef__Output as _meshrun_v1_NodeRef__Output } from './meshrun/v1/NodeRef.js';
import type { NodeRemoveReply as _meshrun_v1_NodeRemoveReply, NodeRemoveReply__Output as _meshrun_v1_NodeRemoveReply__Output } from './meshrun/v1/NodeRemoveReply.js';
import type { NodeShare as _meshrun_v1_NodeShare, NodeShare__Output as _meshrun_v1_NodeShare__Output } from './meshrun/v1/NodeShare.js';
import type { PlaybookEvent as _meshrun_v1_PlaybookEvent, PlaybookEvent__Output as _meshrun_v1_PlaybookEvent__Output } from './meshrun/v1/PlaybookEvent.js';
import type { RemoveUserReply as _meshrun_v1_RemoveUserReply, RemoveUserReply__Output as _meshrun_v1_RemoveUserReply__Output } from './meshrun/v1/RemoveUserReply.js';
import type { Resources as _meshrun_v1_Resources, Resources__Output as _meshrun_v1_Resources__Output } from './meshrun/v1/Resources.js';
import type { RetryJobRequest as _meshrun_v1_RetryJobRequest, RetryJobRequest__Output as _meshrun_v1_RetryJobRequest__Output } from './meshrun/v1/RetryJobRequest.js';
import type { RunScheduleReply as _meshrun_v1_RunScheduleReply, RunScheduleReply__Output as _meshrun_v1_RunScheduleReply__Output } from './meshrun/v1/RunScheduleReply.js';
import type { Schedule as _meshrun_v1_Schedule, Schedule__Output as _meshrun_v1_Schedule__Output } from './meshrun/v1/Schedule.js';
import type { ScheduleFiring as _meshrun_v1_ScheduleFiring, ScheduleFiring__Output as _meshrun_v1_ScheduleFiring__Output } from './meshrun/v1/ScheduleFiring.js';
import type { ScheduleList as _meshrun_v1_ScheduleList, ScheduleList__Output as _meshrun_v1_ScheduleList__Output } from './meshrun/v1/ScheduleList.js';
import type { ScheduleRef as _meshrun_v1_ScheduleRef, ScheduleRef__Output as _meshrun_v1_ScheduleRef__Output } from './meshrun/v1/ScheduleRef.js';
import type { Stage as _meshrun_v1_Stage, Stage__Output as _meshrun_v1_Stage__Output } from './meshrun/v1/Stage.js';
import type { StageHeader as _meshrun_v1_StageHeader, StageHeader__Output as _meshrun_v1_StageHeader__Output } from './meshrun/v1/StageHeader.js';
import type { SubmitReply as _meshrun_v1_SubmitReply, SubmitReply__Output as _meshrun_v1_SubmitReply__Output } from './meshrun/v1/SubmitReply.js';
import type { SubmitRequest as _meshrun_v1_SubmitRequest, SubmitRequest__Output as _meshrun_v1_SubmitRequest__Output } from './meshrun/v1/SubmitRequest.js';
import type { User as _meshrun_v1_User, User__Output as _meshrun_v1_User__Output } from './meshrun/v1/User.js';
import type { UserList as _meshrun_v1_UserList, UserList__Output as _meshrun_v1_UserList__Output } from './meshrun/v1/UserList.js';
import type { UserRef as _meshrun_v1_UserRef, UserRef__Output as _meshrun_v1_UserRef__Output } from './meshrun/v1/UserRef.js';
import type { WebLoginReply as _meshrun_v1_WebLoginReply, WebLoginReply__Output as _meshrun_v1_WebLoginReply__Output } from './meshrun/v1/WebLoginReply.js';
import type { WebLoginRequest as _meshrun_v1_WebLoginRequest, WebLoginRequest__Output as _meshrun_v1_WebLoginRequest__Output } from './meshrun/v1/WebLoginRequest.js';
import type { WhoAmIRequest as _meshrun_v1_WhoAmIRequest, WhoAmIRequest__Output as _meshrun_v1_WhoAmIRequest__Output } from './meshrun/v1/WhoAmIRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  meshrun: {
    v1: {
      AddUserReply: MessageTypeDefinition<_meshrun_v1_AddUserReply, _meshrun_v1_AddUserReply__Output>
      AddUserRequest: MessageTypeDefinition<_meshrun_v1_AddUserRequest, _meshrun_v1_AddUserRequest__Output>
      ArtifactChunk: MessageTypeDefinition<_meshrun_v1_ArtifactChunk, _meshrun_v1_ArtifactChunk__Output>
      Attempt: MessageTypeDefinition<_meshrun_v1_Attempt, _meshrun_v1_Attempt__Output>
      AuditEntry: MessageTypeDefinition<_meshrun_v1_AuditEntry, _meshrun_v1_AuditEntry__Output>
      AuditList: MessageTypeDefinition<_meshrun_v1_AuditList, _meshrun_v1_AuditList__Output>
      AuditRequest: MessageTypeDefinition<_meshrun_v1_AuditRequest, _meshrun_v1_AuditRequest__Output>
      BlobChunk: MessageTypeDefinition<_meshrun_v1_BlobChunk, _meshrun_v1_BlobChunk__Output>
      BlobRef: MessageTypeDefinition<_meshrun_v1_BlobRef, _meshrun_v1_BlobRef__Output>
      CreateScheduleRequest: MessageTypeDefinition<_meshrun_v1_CreateScheduleRequest, _meshrun_v1_CreateScheduleRequest__Output>
      Failure: MessageTypeDefinition<_meshrun_v1_Failure, _meshrun_v1_Failure__Output>
      Handoff: MessageTypeDefinition<_meshrun_v1_Handoff, _meshrun_v1_Handoff__Output>
      Identity: MessageTypeDefinition<_meshrun_v1_Identity, _meshrun_v1_Identity__Output>
      Job: MessageTypeDefinition<_meshrun_v1_Job, _meshrun_v1_Job__Output>
      JobList: MessageTypeDefinition<_meshrun_v1_JobList, _meshrun_v1_JobList__Output>
      JobRef: MessageTypeDefinition<_meshrun_v1_JobRef, _meshrun_v1_JobRef__Output>
      JobRun: MessageTypeDefinition<_meshrun_v1_JobRun, _meshrun_v1_JobRun__Output>
      JoinReply: MessageTypeDefinition<_meshrun_v1_JoinReply, _meshrun_v1_JoinReply__Output>
      JoinRequest: MessageTypeDefinition<_meshrun_v1_JoinRequest, _meshrun_v1_JoinRequest__Output>
      JoinTokenReply: MessageTypeDefinition<_meshrun_v1_JoinTokenReply, _meshrun_v1_JoinTokenReply__Output>
      JoinTokenRequest: MessageTypeDefinition<_meshrun_v1_JoinTokenRequest, _meshrun_v1_JoinTokenRequest__Output>
      ListJobsRequest: MessageTypeDefinition<_meshrun_v1_ListJobsRequest, _meshrun_v1_ListJobsRequest__Output>
      ListNodesRequest: MessageTypeDefinition<_meshrun_v1_ListNodesRequest, _meshrun_v1_ListNodesRequest__Output>
      ListSchedulesRequest: MessageTypeDefinition<_meshrun_v1_ListSchedulesRequest, _meshrun_v1_ListSchedulesRequest__Output>
      ListUsersRequest: MessageTypeDefinition<_meshrun_v1_ListUsersRequest, _meshrun_v1_ListUsersRequest__Output>
      LogData: MessageTypeDefinition<_meshrun_v1_LogData, _meshrun_v1_LogData__Output>
      LogEvent: MessageTypeDefinition<_meshrun_v1_LogEvent, _meshrun_v1_LogEvent__Output>
      LogGap: MessageTypeDefinition<_meshrun_v1_LogGap, _meshrun_v1_LogGap__Output>
      LogsRequest: MessageTypeDefinition<_meshrun_v1_LogsRequest, _meshrun_v1_LogsRequest__Output>
      MeshEdge: MessageTypeDefinition<_meshrun_v1_MeshEdge, _meshrun_v1_MeshEdge__Output>
      MeshJoinReply: MessageTypeDefinition<_meshrun_v1_MeshJoinReply, _meshrun_v1_MeshJoinReply__Output>
      MeshJoinRequest: MessageTypeDefinition<_meshrun_v1_MeshJoinRequest, _meshrun_v1_MeshJoinRequest__Output>
      MeshLeaveReply: MessageTypeDefinition<_meshrun_v1_MeshLeaveReply, _meshrun_v1_MeshLeaveReply__Output>
      MeshLeaveRequest: MessageTypeDefinition<_meshrun_v1_MeshLeaveRequest, _meshrun_v1_MeshLeaveRequest__Output>
      MeshMember: MessageTypeDefinition<_meshrun_v1_MeshMember, _meshrun_v1_MeshMember__Output>
      MeshPeer: MessageTypeDefinition<_meshrun_v1_MeshPeer, _meshrun_v1_MeshPeer__Output>
      MeshRotateReply: MessageTypeDefinition<_meshrun_v1_MeshRotateReply, _meshrun_v1_MeshRotateReply__Output>
      MeshStatusReply: MessageTypeDefinition<_meshrun_v1_MeshStatusReply, _meshrun_v1_MeshStatusReply__Output>
      MeshStatusRequest: MessageTypeDefinition<_meshrun_v1_MeshStatusRequest, _meshrun_v1_MeshStatusRequest__Output>
      Meshrun: SubtypeConstructor<typeof grpc.Client, _meshrun_v1_MeshrunClient> & { service: _meshrun_v1_MeshrunDefinition }
      Node: MessageTypeDefinition<_meshrun_v1_Node, _meshrun_v1_Node__Output>
      NodeList: MessageTypeDefinition<_meshrun_v1_NodeList, _meshrun_v1_NodeList__Output>
      NodeRef: MessageTypeDefinition<_meshrun_v1_NodeRef, _meshrun_v1_NodeRef__Output>
      NodeRemoveReply: MessageTypeDefinition<_meshrun_v1_NodeRemoveReply, _meshrun_v1_NodeRemoveReply__Output>
      NodeShare: MessageTypeDefinition<_meshrun_v1_NodeShare, _meshrun_v1_NodeShare__Output>
      PlaybookEvent: MessageTypeDefinition<_meshrun_v1_PlaybookEvent, _meshrun_v1_PlaybookEvent__Output>
      RemoveUserReply: MessageTypeDefinition<_meshrun_v1_RemoveUserReply, _meshrun_v1_RemoveUserReply__Output>
      Resources: MessageTypeDefinition<_meshrun_v1_Resources, _meshrun_v1_Resources__Output>
      RetryJobRequest: MessageTypeDefinition<_meshrun_v1_RetryJobRequest, _meshrun_v1_RetryJobRequest__Output>
      RunScheduleReply: MessageTypeDefinition<_meshrun_v1_RunScheduleReply, _meshrun_v1_RunScheduleReply__Output>
      Schedule: MessageTypeDefinition<_meshrun_v1_Schedule, _meshrun_v1_Schedule__Output>
      ScheduleFiring: MessageTypeDefinition<_meshrun_v1_ScheduleFiring, _meshrun_v1_ScheduleFiring__Output>
      ScheduleList: MessageTypeDefinition<_meshrun_v1_ScheduleList, _meshrun_v1_ScheduleList__Output>
      ScheduleRef: MessageTypeDefinition<_meshrun_v1_ScheduleRef, _meshrun_v1_ScheduleRef__Output>
      Stage: MessageTypeDefinition<_meshrun_v1_Stage, _meshrun_v1_Stage__Output>
      StageHeader: MessageTypeDefinition<_meshrun_v1_StageHeader, _meshrun_v1_StageHeader__Output>
      SubmitReply: MessageTypeDefinition<_meshrun_v1_SubmitReply, _meshrun_v1_SubmitReply__Output>
      SubmitRequest: MessageTypeDefinition<_meshrun_v1_SubmitRequest, _meshrun_v1_SubmitRequest__Output>
      User: MessageTypeDefinition<_meshrun_v1_User, _meshrun_v1_User__Output>
      UserList: MessageTypeDefinition<_meshrun_v1_UserList, _meshrun_v1_UserList__Output>
      UserRef: MessageTypeDefinition<_meshrun_v1_UserRef, _meshrun_v1_UserRef__Output>
      WebLoginReply: MessageTypeDefinition<_meshrun_v1_WebLoginReply, _meshrun_v1_WebLoginReply__Output>
      WebLoginRequest: MessageTypeDefinition<_meshrun_v1_WebLoginRequest, _meshrun_v1_WebLoginRequest__Output>
      WhoAmIRequest: MessageTypeDefinition<_meshrun_v1_WhoAmIRequest, _meshrun_v1_WhoAmIRequest__Output>
    }
  }
}

