// The ipsync allow-list role assigned to the app's identity at one resource group (main.bicep
// with roleScope resourceGroups deploys one per listed group): the app may then read and
// write the allow-lists of that group's resources, and of no other.
targetScope = 'resourceGroup'

@description('Object id of the Function App\'s system-assigned identity.')
param principalId string

@description('Resource id of the custom role (modules/role.bicep output roleDefinitionId).')
param roleDefinitionId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionId)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'ipsync Function App: keep allow-lists in step with service tags, in this group.'
  }
}

output roleAssignmentId string = assignment.id
