// Log Analytics Reader for medic's identity on the existing workspace its poller queries, and the
// workspace (customer) id the query API takes. Deployed by main.bicep into the workspace's
// resource group.

targetScope = 'resourceGroup'

@description('The Log Analytics workspace that receives the endpoints\' diagnostics.')
param workspaceName string

@description('Object id of the function app\'s system-assigned identity.')
param principalId string

@description('Resource id of the function app; keeps the role assignment\'s name stable.')
param appId string

// Built-in role definition: Log Analytics Reader.
var logAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, appId, logAnalyticsReader)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

@description('The workspace (customer) id: MEDIC_WORKSPACE_ID.')
output customerId string = workspace.properties.customerId
