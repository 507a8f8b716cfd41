// The ipsync custom role at management-group scope, for discovery across the group's
// subscriptions. Deploy main.bicep first with roleScope 'managementGroup', then this file at
// the management group with its outputs:
//   az deployment mg create --management-group-id <group> --location <region> \
//     --template-file infra/mg-role.bicep \
//     --parameters principalId=<principalId output> actions='<roleActions output as JSON>'
// Role definitions and assignments need targetScope per file, so this cannot share
// modules/role.bicep (subscription scope); the actions still come from main.bicep alone.
targetScope = 'managementGroup'

@description('Object id of the Function App\'s system-assigned identity (main.bicep output principalId).')
param principalId string

@description('RBAC actions of the enabled kinds (main.bicep output roleActions).')
param actions array

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // Custom role names are unique per tenant: the management group id keeps them apart.
  name: guid(managementGroup().id, 'ipsync-allow-list-sync')
  properties: {
    roleName: 'ipsync allow-list sync (${managementGroup().name})'
    description: 'Read ipsync targets and service tags; write their allow-lists (NSG rules, firewall IP rules, IP Groups). Used by ipsync.'
    type: 'CustomRole'
    assignableScopes: [
      managementGroup().id
    ]
    permissions: [
      {
        actions: actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, role.id)
  properties: {
    roleDefinitionId: role.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'ipsync Function App: keep allow-lists in step with service tags.'
  }
}

output roleDefinitionId string = role.id
output roleAssignmentId string = assignment.id
