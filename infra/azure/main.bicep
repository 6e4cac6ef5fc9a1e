// medic on Azure: a Python function app (Flex Consumption) that reads the diagnostics of Azure ML
// online endpoints from an event hub (push) and, optionally, from a Log Analytics workspace
// (pull), keeps its state in Table Storage and posts alerts to Slack or Microsoft Teams.
//
// Deploy into a resource group of its own (see "Deploying on Azure" in the README):
//   az deployment group create --resource-group medic --template-file infra/azure/main.bicep \
//     --parameters @infra/azure/main.parameters.json
// then publish the code with `func azure functionapp publish <functionAppName>`.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@description('An existing Azure ML online endpoint whose diagnostics medic reads.')
type onlineEndpoint = {
  @description('The Azure ML workspace that holds the endpoint.')
  workspaceName: string

  @description('The online endpoint.')
  endpointName: string

  @description('Resource group of the workspace, in this subscription; default: the resource group of this deployment.')
  resourceGroup: string?
}

@description('Region of the Event Hubs namespace. It must be the region of the online endpoints: a diagnostic setting streams only to a namespace in the region of its resource.')
param location string = resourceGroup().location

@description('Region of the function app, its plan, storage, Key Vault and Application Insights. Flex Consumption is not offered in every region (az functionapp list-flexconsumption-locations); default: location.')
param appLocation string = location

@description('Prefix of every resource name: lowercase letters and digits, at most 11.')
@minLength(2)
@maxLength(11)
param namePrefix string = 'medic'

@description('Online endpoints to stream AmlOnlineEndpointConsoleLog, AmlOnlineEndpointTrafficLog and AmlOnlineEndpointEventLog from, as [{workspaceName, endpointName, resourceGroup?}]. They must be in the region of location. Endpoints created later can be added with az monitor diagnostic-settings create (see the README).')
param monitoredEndpoints onlineEndpoint[] = []

@description('Resource id of an existing Log Analytics workspace that receives the endpoints\' diagnostics, for the poller (pull). The app\'s identity gets Log Analytics Reader on it. Empty: no polling, and MEDIC_WORKSPACE_ID stays empty.')
param logAnalyticsWorkspaceResourceId string = ''

@description('NCRONTAB schedule of the timer function (MEDIC_POLL_SCHEDULE): it polls the workspace, retries pending alerts and removes expired state.')
param pollSchedule string = '0 */5 * * * *'

@description('How many minutes before its checkpoint each poll reads again (MEDIC_POLL_LOOKBACK_MINUTES), for rows the workspace ingests late.')
@minValue(1)
@maxValue(1440)
param pollLookbackMinutes int = 15

@description('Log Analytics query API base URL (MEDIC_LOGS_ENDPOINT); empty: https://api.loganalytics.io/v1. Sovereign clouds differ.')
param logsEndpoint string = ''

@description('Path of the medic config file inside the app (MEDIC_CONFIG), e.g. /home/site/wwwroot/medic.yaml; empty: the built-in defaults.')
param medicConfigPath string = ''

@description('Table Storage table that holds medic\'s state (MEDIC_STATE=azuretable://TABLE).')
@minLength(3)
@maxLength(63)
param stateTableName string = 'medicstate'

@description('Event hub the diagnostic settings stream to.')
param eventHubName string = 'aml-online-endpoints'

@description('Consumer group of the hub reserved for medic.')
param consumerGroupName string = 'medic'

@description('Partitions of the event hub (cannot be changed later on the Standard tier).')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 2

@description('Days the hub keeps events medic has not read yet.')
@minValue(1)
@maxValue(7)
param eventHubRetentionDays int = 1

@description('Slack channel id the bot token posts to (SLACK_CHANNEL); empty when only webhooks are used.')
param slackChannel string = ''

@description('Slack bot token (xoxb-...). Stored in Key Vault when given; the app reads it through a Key Vault reference. Give it on every deployment: left out, the setting is cleared.')
@secure()
param slackBotToken string = ''

@description('Slack incoming webhook URL. Stored in Key Vault when given; the app reads it through a Key Vault reference.')
@secure()
param slackWebhookUrl string = ''

@description('Microsoft Teams Workflows webhook URL. Stored in Key Vault when given; the app reads it through a Key Vault reference.')
@secure()
param teamsWebhookUrl string = ''

@description('Most instances the Flex Consumption app scales out to (40 is the lowest maximum the plan accepts).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Days medic\'s own telemetry is kept in its Log Analytics workspace (Application Insights).')
@minValue(30)
@maxValue(730)
param telemetryRetentionDays int = 30

@description('Tags for every resource.')
param tags object = {}

// ---------------------------------------------------------------------------------------------
// Names and well-known ids
// ---------------------------------------------------------------------------------------------

var suffix = uniqueString(resourceGroup().id, namePrefix)
var functionAppName = 'func-${namePrefix}-${suffix}'
var storageAccountName = take('st${namePrefix}${suffix}', 24)
var keyVaultName = take('kv-${namePrefix}-${suffix}', 24)
var deploymentContainerName = 'app-package'

// Built-in role definitions (the same ids in every tenant).
var roles = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde' // Azure Event Hubs Data Receiver
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
}

// Key Vault secret names.
var secretNames = {
  slackBotToken: 'slack-bot-token'
  slackWebhookUrl: 'slack-webhook-url'
  teamsWebhookUrl: 'teams-webhook-url'
}

var hasWorkspace = !empty(logAnalyticsWorkspaceResourceId)
// /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}
var workspaceIdParts = split(hasWorkspace ? logAnalyticsWorkspaceResourceId : '/subscriptions/${subscription().subscriptionId}/resourceGroups/${resourceGroup().name}/providers/Microsoft.OperationalInsights/workspaces/none', '/')

// ---------------------------------------------------------------------------------------------
// Storage: host storage (timer locks, Event Hubs checkpoints), the deployment package, the state table.
// Everything reaches it with the app's identity; the account takes no key.
// ---------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: appLocation
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // The host, medic's state store and the deployment package all use the app's identity
    // (AzureWebJobsStorage__accountName, SystemAssignedIdentity), so no key is needed.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource stateTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: stateTableName
}

// ---------------------------------------------------------------------------------------------
// medic's own telemetry: workspace-based Application Insights
// ---------------------------------------------------------------------------------------------

resource telemetryWorkspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${namePrefix}-${suffix}'
  location: appLocation
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: telemetryRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${namePrefix}-${suffix}'
  location: appLocation
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: telemetryWorkspace.id
  }
}

// ---------------------------------------------------------------------------------------------
// Event Hubs: the hub the endpoints' diagnostic settings stream to
// ---------------------------------------------------------------------------------------------

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: 'evhns-${namePrefix}-${suffix}'
  location: location
  tags: tags
  sku: {
    // Basic has only the $Default consumer group; medic reads through a group of its own.
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    // Diagnostic settings send with a shared access rule; medic itself reads with its identity.
    disableLocalAuth: false
  }
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: eventHubNamespace
  name: eventHubName
  properties: {
    partitionCount: eventHubPartitionCount
    messageRetentionInDays: eventHubRetentionDays
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: eventHub
  name: consumerGroupName
}

// Send only: the hub exists, so Azure Monitor never needs to create one.
resource diagnosticsSendRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: eventHubNamespace
  name: 'medic-diagnostics-send'
  properties: {
    rights: [
      'Send'
    ]
  }
}

// Diagnostic settings on the existing online endpoints (each in its own resource group).
module endpointDiagnostics 'endpoint-diagnostics.bicep' = [
  for endpoint in monitoredEndpoints: {
    name: 'medic-diag-${uniqueString(endpoint.?resourceGroup ?? resourceGroup().name, endpoint.workspaceName, endpoint.endpointName)}'
    scope: resourceGroup(endpoint.?resourceGroup ?? resourceGroup().name)
    params: {
      workspaceName: endpoint.workspaceName
      endpointName: endpoint.endpointName
      eventHubAuthorizationRuleId: diagnosticsSendRule.id
      eventHubName: eventHub.name
    }
  }
]

// The namespace's host name (NAME.servicebus.windows.net in the public cloud) for the
// identity-based Event Hubs connection.
var eventHubsHost = split(split(replace(eventHubNamespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0], '/')[0]

// ---------------------------------------------------------------------------------------------
// Key Vault: the chat credentials, read as Key Vault references
// ---------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: appLocation
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Flex Consumption resolves Key Vault references only from vaults without network restrictions.
    publicNetworkAccess: 'Enabled'
  }
}

resource slackBotTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(slackBotToken)) {
  parent: keyVault
  name: secretNames.slackBotToken
  properties: {
    value: slackBotToken
  }
}

resource slackWebhookUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(slackWebhookUrl)) {
  parent: keyVault
  name: secretNames.slackWebhookUrl
  properties: {
    value: slackWebhookUrl
  }
}

resource teamsWebhookUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: keyVault
  name: secretNames.teamsWebhookUrl
  properties: {
    value: teamsWebhookUrl
  }
}

// ---------------------------------------------------------------------------------------------
// The function app: Flex Consumption, Linux, Python 3.11, system-assigned identity
// ---------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${namePrefix}-${suffix}'
  location: appLocation
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: appLocation
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // On Flex Consumption the runtime and its version are set here, not as app settings.
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

// The app's identity: read the hub, read the vault's secrets, use its storage account.
resource eventHubReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHub.id, functionApp.id, roles.eventHubsDataReceiver)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, functionApp.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Host storage with an identity: the host keeps its timer locks, Event Hubs checkpoints and
// function keys in blobs (Storage Blob Data Owner covers them and the deployment package); the
// Event Hubs and timer triggers need no queue.
resource hostStorageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// medic's state table, and the host's diagnostic events, which it also writes to tables.
resource stateTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Log Analytics Reader on the workspace the poller queries (it may live in another resource group).
module workspaceReader 'workspace-reader.bicep' = if (hasWorkspace) {
  name: 'medic-workspace-reader'
  scope: resourceGroup(workspaceIdParts[2], workspaceIdParts[4])
  params: {
    workspaceName: workspaceIdParts[8]
    principalId: functionApp.identity.principalId
    appId: functionApp.id
  }
}

// Every app setting the functions read (functions/azure/settings.py), plus the platform's own.
// Secrets are Key Vault references; the vault resolves them with the app's identity. Host storage
// is identity-based: the account name alone means the system-assigned identity, and medic's
// azuretable:// store reads the same setting.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__accountName: storage.name
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    MEDIC_CONFIG: medicConfigPath
    MEDIC_STATE: 'azuretable://${stateTable.name}'
    MEDIC_EVENTHUB__fullyQualifiedNamespace: eventHubsHost
    MEDIC_EVENTHUB_NAME: eventHub.name
    MEDIC_EVENTHUB_CONSUMER_GROUP: consumerGroup.name
    MEDIC_WORKSPACE_ID: hasWorkspace ? workspaceReader.outputs.customerId : ''
    MEDIC_POLL_SCHEDULE: pollSchedule
    MEDIC_POLL_LOOKBACK_MINUTES: string(pollLookbackMinutes)
    MEDIC_LOGS_ENDPOINT: logsEndpoint
    SLACK_BOT_TOKEN: empty(slackBotToken) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretNames.slackBotToken}/)'
    SLACK_CHANNEL: slackChannel
    SLACK_WEBHOOK_URL: empty(slackWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretNames.slackWebhookUrl}/)'
    TEAMS_WEBHOOK_URL: empty(teamsWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretNames.teamsWebhookUrl}/)'
  }
  dependsOn: [
    keyVaultSecretsUser
    eventHubReceiver
    hostStorageBlobOwner
    stateTableContributor
    slackBotTokenSecret
    slackWebhookUrlSecret
    teamsWebhookUrlSecret
  ]
}

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

@description('The function app: publish the code with func azure functionapp publish <name>.')
output functionAppName string = functionApp.name

@description('The Event Hubs namespace the diagnostic settings stream to.')
output eventHubNamespaceName string = eventHubNamespace.name

@description('The event hub (the --event-hub of az monitor diagnostic-settings create).')
output eventHubName string = eventHub.name

@description('The Send rule for diagnostic settings (the --event-hub-rule of az monitor diagnostic-settings create).')
output diagnosticsAuthorizationRuleId string = diagnosticsSendRule.id

@description('The Key Vault holding the chat credentials.')
output keyVaultName string = keyVault.name

@description('The storage account holding the state table.')
output storageAccountName string = storage.name
